"""conv_params adds C_out biases even when bias=False.

Caught by: conv_params_groups_and_bias
"""



def conv_params(c_in, c_out, k, groups=1, bias=True) -> int:
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide c_in={c_in} and c_out={c_out}")
    return c_out * (c_in // groups) * k * k + c_out  # the mistake: bias counted always
