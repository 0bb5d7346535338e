# cb06's rnn_step_backward with its one bug fixed (db summed without keepdims), same cache layout
import numpy as np


def rnn_step_backward(dnext_h, cache):
    a_next, a_prev, xt, Wx, Wh = cache
    dz = (1 - a_next ** 2) * dnext_h
    return np.dot(dz, Wx.T), np.dot(dz, Wh.T), np.dot(xt.T, dz), np.dot(a_prev.T, dz), np.sum(dz, axis=0)
