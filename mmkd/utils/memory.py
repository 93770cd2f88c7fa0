"""Memory measured from inside torch: what the CPU's resident set size and
tracemalloc cannot show (torch's CPU allocations are invisible to
tracemalloc, and ``ru_maxrss`` never goes down within a process)."""
import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

__all__ = ['LiveTensorBytes']


class LiveTensorBytes(TorchDispatchMode):
    """Peak bytes of storages created by aten ops inside the mode."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: dict = {}
        self.live = 0
        self.peak = 0

    def _release(self, ptr: int, nbytes: int) -> None:
        self.refs[ptr] -= 1
        if self.refs[ptr] == 0:
            del self.refs[ptr]
            self.live -= nbytes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if not isinstance(t, torch.Tensor):
                continue
            storage = t.untyped_storage()
            ptr, nbytes = storage.data_ptr(), storage.nbytes()
            if ptr == 0:
                continue
            if ptr not in self.refs:
                self.refs[ptr] = 0
                self.live += nbytes
                self.peak = max(self.peak, self.live)
            self.refs[ptr] += 1
            weakref.finalize(t, self._release, ptr, nbytes)
        return out
