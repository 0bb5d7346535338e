import numpy as np


"""
Layers for recurrent networks, as handed out in 2016: Python 2 starter code around the student's own.
"""


def sigmoid(x):
  """
  A numerically stable version of the logistic sigmoid function.
  """
  pos_mask = (x >= 0)
  neg_mask = (x < 0)
  z = np.zeros_like(x)
  z[pos_mask] = np.exp(-x[pos_mask])
  z[neg_mask] = np.exp(x[neg_mask])
  top = np.ones_like(x)
  top[neg_mask] = z[neg_mask]
  return top / (1 + z)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
  H = prev_h.shape[1]
  a = np.dot(x, Wx) + np.dot(prev_h, Wh) + b
  i = sigmoid(a[:, :H])
  f = sigmoid(a[:, H:2*H])
  o = sigmoid(a[:, 2*H:3*H])
  g = np.tanh(a[:, 3*H:])
  next_c = f * prev_c + i * g
  next_h = o * np.tanh(next_c)
  cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)
  return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
  x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
  tanh_c = np.tanh(next_c)
  dc = dnext_c + dnext_h * o * (1 - tanh_c**2)
  da = np.hstack((dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dnext_h * tanh_c * o * (1 - o),
                  dc * i * (1 - g**2)))
  dx = np.dot(da, Wx.T)
  dprev_h = np.dot(da, Wh.T)
  dprev_c = dc * f
  dWx = np.dot(x.T, da)
  dWh = np.dot(prev_h.T, da)
  db = np.sum(da, axis=0)
  return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
  N, T, D = x.shape
  H = h0.shape[1]
  h = np.zeros((N, T, H))
  cache = []
  prev_h, prev_c = h0, np.zeros_like(h0)
  for t in range(T):
    prev_h, prev_c, step = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
    h[:, t, :] = prev_h
    cache.append(step)
  return h, cache


def lstm_backward(dh, cache):
  N, T, H = dh.shape
  D = cache[0][0].shape[1]
  dx = np.zeros((N, T, D))
  dWx = np.zeros((D, 4*H))
  dWh = np.zeros((H, 4*H))
  db = np.zeros(4*H)
  dprev_h = np.zeros((N, H))
  dprev_c = np.zeros((N, H))
  for t in reversed(range(T)):
    dx[:, t, :], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t, :] + dprev_h, dprev_c, cache[t])
    dWx += dWx_t
    dWh += dWh_t
    db += db_t
  return dx, dprev_h, dWx, dWh, db


def temporal_softmax_loss(x, y, mask, verbose=False):
  """Starter code: softmax over the vocabulary at every step, averaged over the minibatch."""
  N, T, V = x.shape
  x_flat = x.reshape(N * T, V)
  y_flat = y.reshape(N * T)
  probs = np.exp(x_flat - np.max(x_flat, axis=1, keepdims=True))
  probs /= np.sum(probs, axis=1, keepdims=True)
  loss = -np.sum(mask.reshape(N * T) * np.log(probs[np.arange(N * T), y_flat])) / N
  dx_flat = probs.copy()
  dx_flat[np.arange(N * T), y_flat] -= 1
  dx_flat /= N
  if verbose: print 'dx_flat: ', dx_flat.shape
  return loss, dx_flat.reshape(N, T, V)
