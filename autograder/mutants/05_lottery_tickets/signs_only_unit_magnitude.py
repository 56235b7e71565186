"""signs_only keeps only sign(w0): every survivor becomes +-1 instead of +-std(w0).

Caught by: signs_only_signed_constant
"""

import torch


def signs_only(init_state, masks):
    keys = [k for k, v in init_state.items() if k.endswith("weight") and v.ndim >= 2]
    if len(keys) != len(masks):
        raise ValueError("masks: need one mask per prunable weight")
    state = {k: v.clone() for k, v in init_state.items()}
    for k, m in zip(keys, masks):
        state[k] = torch.sign(init_state[k]) * torch.as_tensor(m, dtype=init_state[k].dtype)
    return state
