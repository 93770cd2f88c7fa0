"""Record module outputs (or inputs) by dotted path, with temporary hooks."""
import difflib
from typing import Dict, Iterable, List, Literal, NamedTuple, Optional

import torch.nn as nn

__all__ = ['Tap', 'FeatureTaps', 'StopForward', 'parse_tap']

TapSource = Literal['output', 'input']


class Tap(NamedTuple):
    """A module path and which side of the module is recorded."""
    path: str
    source: TapSource = 'output'


def parse_tap(spec, owner: str) -> Tap:
    """Turn a config value (``'a.b'`` or ``dict(path=, source=)``) into a Tap.

    Args:
        spec (str | dict): The tap as written in the config.
        owner (str): Where the spec comes from, for error messages.
    """
    if isinstance(spec, str):
        return Tap(spec)
    if isinstance(spec, dict) and 'path' in spec:
        source = spec.get('source', 'output')
        if source not in ('output', 'input'):
            raise ValueError(f"{owner}: tap source should be 'output' or "
                             f"'input', but got {source!r}")
        return Tap(spec['path'], source)
    raise TypeError(f"{owner}: a tap should be a module path like "
                    f"'decode_head.conv_seg' or dict(path=..., "
                    f"source='output'|'input'), but got {spec!r}")


class StopForward(Exception):
    """Raised by a hook once every tap has what it needs, to end a forward
    that would otherwise compute outputs nobody reads (the teacher's)."""


def _closest(path: str, names: List[str], n: int = 5) -> List[str]:
    close = difflib.get_close_matches(path, names, n=n, cutoff=0.4)
    if not close:  # fall back to siblings of the deepest valid parent
        parent = path.rsplit('.', 1)[0] if '.' in path else ''
        close = [m for m in names if m.startswith(parent)][:n]
    return close


class FeatureTaps:
    """Forward hooks on named sub-modules that exist only inside ``with``.

    A path is checked against ``model.named_modules()`` when the taps are
    created; a typo raises a ``KeyError`` listing the closest valid names.
    Records are lists of what each call produced (a module may run more than
    once per forward); :meth:`pop` returns them and forgets them.

    Args:
        model (nn.Module): The model to tap.
        taps (Iterable[Tap]): What to record.
        name (str): 'student' or 'teacher', for error messages.
        stop_early (bool): Raise :class:`StopForward` once every tap has
            been called as often as in the first recorded forward. The first
            forward runs to the end to learn those counts. Defaults to False.

    Example:
        >>> import torch, torch.nn as nn
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
        >>> taps = FeatureTaps(net, [Tap('0')], name='student')
        >>> with taps:
        ...     _ = net(torch.zeros(1, 2))
        >>> taps.pop()[Tap('0')].shape
        torch.Size([1, 3])
    """

    def __init__(self,
                 model: nn.Module,
                 taps: Iterable[Tap],
                 name: str = 'model',
                 stop_early: bool = False) -> None:
        self.taps = list(dict.fromkeys(taps))
        self.name = name
        self.stop_early = stop_early
        modules = dict(model.named_modules())
        for tap in self.taps:
            if tap.path not in modules:
                raise KeyError(
                    f'{name} has no module {tap.path!r}; closest valid '
                    f'names: {_closest(tap.path, [m for m in modules if m])}.'
                    f' List them all with '
                    f'[n for n, _ in model.{name}.named_modules()]')
        self._modules = {tap: modules[tap.path] for tap in self.taps}
        self._handles: list = []
        self._records: Dict[Tap, list] = {}
        self._calls: Optional[Dict[Tap, int]] = None

    def _make_hook(self, tap: Tap):

        def record(value) -> None:
            self._records.setdefault(tap, []).append(value)
            if self.stop_early and self._calls is not None and all(
                    len(self._records.get(t, ())) >= n
                    for t, n in self._calls.items()):
                raise StopForward

        if tap.source == 'output':
            return lambda module, args, output: record(output)
        return lambda module, args: record(args[0] if len(args) == 1 else args)

    def __enter__(self) -> 'FeatureTaps':
        self._records = {}
        for tap, module in self._modules.items():
            hook = self._make_hook(tap)
            if tap.source == 'output':
                handle = module.register_forward_hook(hook)
            else:
                handle = module.register_forward_pre_hook(hook)
            self._handles.append(handle)
        return self

    def __exit__(self, *exc) -> bool:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        return False

    def pop(self) -> Dict[Tap, object]:
        """Return the records (one value, or a list for repeated calls) and
        forget them. Raises if a tap never fired."""
        records, self._records = self._records, {}
        missing = [t.path for t in self.taps if t not in records]
        if missing:
            raise RuntimeError(
                f'{self.name} forward never ran the tapped modules '
                f'{missing}; tap a module on the path the forward takes')
        if self._calls is None:
            self._calls = {t: len(v) for t, v in records.items()}
        return {t: v[0] if len(v) == 1 else v for t, v in records.items()}
