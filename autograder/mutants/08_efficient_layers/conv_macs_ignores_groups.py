"""MACs count C_in * K^2 per output value, ignoring groups.

Caught by: conv_macs_groups
"""



def conv_macs(c_in, c_out, k, h_out, w_out, groups=1) -> int:
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide c_in={c_in} and c_out={c_out}")
    return c_out * c_in * k * k * h_out * w_out  # the mistake: no division by groups
