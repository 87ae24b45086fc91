#!/usr/bin/env python3
"""Generates the fixtures of PredictPyTorchFilesTest (examples/src/test/resources/dev/vlstm/examples/pytorch):
the seed classifier as a PyTorch user saves it, in the dtypes people save.

The model is nn.LSTM(28, 64, batch_first=True) as `lstm` + nn.Linear(64, 10) as `fc` (the
state_dict names predict reads). Each `seed_<dtype>.safetensors` holds its state_dict in that dtype
with the metadata {"format": "pt"} that the Hugging Face libraries write by default:
- f32, f16 (model.half()), bf16 (model.bfloat16()), f64 (model.double(), with each weight moved
  off the float32 grid by ~1e-9 so that loading has to round);
- `x.npy` holds 6 inputs [6, 28, 28] in [0, 1); `logits_<dtype>.npy` PyTorch's logits [6, 10],
  computed in float32 with the weights as that file stores them converted to float32 (for f64:
  rounded to nearest, as torch's .float()).

safetensors is written by hand (8-byte little-endian header length, JSON header, raw
little-endian data) so that only torch and numpy are needed: on Debian
`apt-get install python3-torch`. Run from the repository root:

    /usr/bin/python3 examples/src/test/python/make_predict_fixtures.py
"""
import json
import os
import struct

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "dev", "vlstm", "examples", "pytorch")
NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64"}


def raw_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        # numpy has no bfloat16: its bits are the upper half of the float32's
        bits = t.float().numpy().view("<u4") >> 16
        return bits.astype("<u2").tobytes()
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def save(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        b = raw_bytes(t)
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(28, 64, batch_first=True)
        self.fc = torch.nn.Linear(64, 10)

    def forward(self, x):           # x: [N, T, I]
        out, _ = self.lstm(x)
        return self.fc(out[:, -1, :])


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(13)
    net = Net().eval()
    x = torch.rand(6, 28, 28)
    np.save(os.path.join(OUT, "x.npy"), x.numpy().astype("<f4"))
    for dtype, tag in [(torch.float32, "f32"), (torch.float16, "f16"), (torch.bfloat16, "bf16"), (torch.float64, "f64")]:
        state = {}
        for k, v in net.state_dict().items():
            w = v.to(dtype)
            if dtype == torch.float64:
                w = w + 1e-9 * torch.randn(v.shape, dtype=torch.float64)
            state[k] = w
        save(os.path.join(OUT, "seed_" + tag + ".safetensors"), state, {"format": "pt"})
        rounded = Net().eval()
        rounded.load_state_dict({k: v.float() for k, v in state.items()})
        with torch.no_grad():
            logits = rounded(x)
        np.save(os.path.join(OUT, "logits_" + tag + ".npy"), logits.numpy().astype("<f4"))
        print(tag, "max |logit|", float(logits.abs().max()), "max |Δ| vs f32 model", float((logits - net(x)).abs().max()))
