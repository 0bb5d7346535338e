# cb04's rnn_step_backward with its one bug fixed (the tanh derivative of next_h itself), same cache layout
import numpy as np


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    dh_raw = dnext_h * (1 - next_h ** 2)
    return (np.dot(dh_raw, Wx.T), np.dot(dh_raw, Wh.T), np.dot(x.T, dh_raw), np.dot(prev_h.T, dh_raw),
            np.sum(dh_raw, axis=0))
