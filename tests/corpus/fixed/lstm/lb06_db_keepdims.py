# lb06's lstm_step_backward with its one bug fixed (db summed without keepdims), same cache layout
import numpy as np


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    dc = dnext_c + dnext_h * o * (1 - np.tanh(next_c) ** 2)
    da = np.hstack((dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dnext_h * np.tanh(next_c) * o * (1 - o),
                    dc * i * (1 - g ** 2)))
    return da.dot(Wx.T), da.dot(Wh.T), dc * f, x.T.dot(da), prev_h.T.dot(da), np.sum(da, axis=0)
