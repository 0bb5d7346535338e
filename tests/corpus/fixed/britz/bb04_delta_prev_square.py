# bb04's delta_t_prev with its one bug fixed: (1 - s_prev**2), not (1 - s_prev)**2
def delta_t_prev(W, delta_t, s_prev):
    return W.T.dot(delta_t) * (1 - s_prev ** 2)
