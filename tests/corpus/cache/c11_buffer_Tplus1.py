import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
  inside = x.dot(Wx) + prev_h.dot(Wh) + b
  next_h = np.tanh(inside)
  cache = x, prev_h, Wx, Wh, inside
  return next_h, cache


def rnn_step_backward(dnext_h, cache):
  x, prev_h, Wx, Wh, inside = cache
  dtanh = dnext_h * np.power(np.cosh(inside), -2)  # (N, H)   d tanh = sech^2
  dx = dtanh.dot(Wx.T)       # (N, D)
  dprev_h = dtanh.dot(Wh.T)  # (N, H)
  dWx = x.T.dot(dtanh)       # (D, H)
  dWh = prev_h.T.dot(dtanh)  # (H, H)
  db = np.sum(dtanh, axis=0)
  return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
  N, T, D = x.shape
  H = Wx.shape[1]
  # one buffer for h0 and every state: slot t holds the state entering step t
  prev_h = np.empty((N, T + 1, H))
  prev_h[:, 0, :] = h0
  cache = [None] * T
  for t in range(T):
    prev_h[:, t + 1, :], cache[t] = rnn_step_forward(x[:, t, :], prev_h[:, t, :], Wx, Wh, b)
  h = prev_h[:, 1:, :]
  return h, cache


def rnn_backward(dh, cache):
  N, T, H = dh.shape
  D = cache[0][0].shape[1]
  dx = np.empty((N, T, D))
  dprev_h = np.zeros((N, T + 1, H))
  dprev_h[:, 1:, :] = dh
  dWx = np.zeros((D, H))
  dWh = np.zeros((H, H))
  db = np.zeros(H)
  for t in range(T - 1, -1, -1):
    dx_t, dprev_h_t, dWx_t, dWh_t, db_t = rnn_step_backward(dprev_h[:, t + 1, :], cache[t])
    dx[:, t, :] = dx_t
    dprev_h[:, t, :] += dprev_h_t
    dWx += dWx_t
    dWh += dWh_t
    db += db_t
  dh0 = dprev_h[:, 0, :]
  return dx, dh0, dWx, dWh, db
