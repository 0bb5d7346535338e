import numpy as np


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
  # retrieving shapes
  _, H = prev_h.shape
  # activated gates
  unact  = np.dot(x, Wx) + np.dot(prev_h, Wh) + b
  act_i  = sigmoid(unact[:, 0*H:1*H])
  act_f  = sigmoid(unact[:, 1*H:2*H])
  act_o  = sigmoid(unact[:, 2*H:3*H])
  act_g  = np.tanh(unact[:, 3*H:4*H])
  # next values
  next_c = np.multiply(act_f, prev_c) + np.multiply(act_i, act_g)
  next_h = np.multiply(act_o, np.tanh(next_c))
  cache  = x, prev_h, Wx, Wh, act_i, act_f, act_o, act_g, prev_c, next_c
  return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
  x, prev_h, Wx, Wh, act_i, act_f, act_o, act_g, prev_c, next_c = cache
  N, H     = dnext_h.shape
  d_unact  = np.zeros((N, 4*H))
  # derivative of the cell state, both paths
  d_cell   = dnext_c + (dnext_h * act_o) * (1.0 - np.tanh(next_c)**2)
  dprev_c  = d_cell * act_f
  # derivatives of the (un)activated gates, last block first
  d_unact[:, 3*H:4*H] = d_cell * act_i           * (1.0 - act_g**2)
  d_unact[:, 2*H:3*H] = dnext_h * np.tanh(next_c) * act_o * (1.0 - act_o)
  d_unact[:, 1*H:2*H] = d_cell * prev_c          * act_f * (1.0 - act_f)
  d_unact[:, 0*H:1*H] = d_cell * act_g           * act_i * (1.0 - act_i)
  db      = np.sum(d_unact, axis=0)
  dWh     = np.dot(prev_h.transpose(), d_unact)
  dWx     = np.dot(     x.transpose(), d_unact)
  dprev_h = np.dot(d_unact, Wh.transpose())
  dx      = np.dot(d_unact, Wx.transpose())
  return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
  N, T, D = x.shape
  _, H    = h0.shape
  cache   = {}
  c0      = np.zeros_like(h0)
  h       = np.zeros((N, T, H))
  c       = np.zeros((N, T, H))
  # iteration 0
  h[:, 0, :], c[:, 0, :], cache[0] = lstm_step_forward(x[:, 0, :], h0, c0, Wx, Wh, b)
  # iterations 1 to T - 1
  for t in range(1, T):
    h[:, t, :], c[:, t, :], cache[t] = lstm_step_forward(x[:, t, :], h[:, t-1, :], c[:, t-1, :], Wx, Wh, b)
  # sizes kept next to the steps
  cache['size'] = (N, T, H, D)
  return h, cache


def lstm_backward(dh, cache):
  (N, T, H, D) = cache['size']
  dprev_h = np.zeros((  N,    H))
  dprev_c = np.zeros((  N,    H))
  dx      = np.zeros((  N, T, D))
  dWx     = np.zeros((  D, 4* H))
  dWh     = np.zeros((  H, 4* H))
  db      = np.zeros((4*H,     ))
  for t in reversed(range(0, T)):
    dnext_h = dprev_h + dh[:, t, :]
    dnext_c = dprev_c
    dx[:,t,:], dprev_h, dprev_c, d_Wx, d_Wh, d_b = lstm_step_backward(dnext_h, dnext_c, cache[t])
    dWx    += d_Wx
    dWh    += d_Wh
    db     += d_b
  dh0 = dprev_h
  return dx, dh0, dWx, dWh, db
