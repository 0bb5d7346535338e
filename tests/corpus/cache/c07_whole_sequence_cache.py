import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
  next_h = np.tanh(np.dot(x, Wx) + np.dot(prev_h, Wh) + b)
  cache = (x, prev_h, next_h, Wx, Wh, b)
  return next_h, cache


def rnn_step_backward(dnext_h, cache):
  x, prev_h, next_h, Wx, Wh, _ = cache
  dscores = dnext_h * (1 - next_h * next_h)
  dx = np.dot(dscores, Wx.T)
  dprev_h = np.dot(dscores, Wh.T)
  dWx = np.dot(x.T, dscores)
  dWh = np.dot(prev_h.T, dscores)
  db = np.sum(dscores, axis=0)
  return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
  N, T, _ = x.shape
  _, H = h0.shape
  h = np.zeros((N, T, H))
  prev_h = h0
  for t in range(T):
    prev_h, _ = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
    h[:, t, :] = prev_h
  # no per-step caches: the whole sequence is enough to rebuild them
  cache = (x, h, h0, Wx, Wh, b)
  return h, cache


def rnn_backward(dh, cache):
  x, h, h0, Wx, Wh, b = cache
  N, T, H = dh.shape
  _, _, D = x.shape
  dprev_h = np.zeros((N, H))
  dx = np.zeros((N, T, D))
  dWx = np.zeros((D, H))
  dWh = np.zeros((H, H))
  db = np.zeros((H,))
  for t in reversed(range(T)):
    if t > 0:
      prev_h = h[:, t - 1, :]
    else:
      prev_h = h0
    step_cache = (x[:, t, :], prev_h, h[:, t, :], Wx, Wh, b)
    dnext_h = dh[:, t, :] + dprev_h
    dx[:, t, :], dprev_h, dWx_, dWh_, db_ = rnn_step_backward(dnext_h, step_cache)
    dWx += dWx_
    dWh += dWh_
    db += db_
  dh0 = dprev_h
  return dx, dh0, dWx, dWh, db
