"""Record module outputs (or inputs) by dotted path, with temporary hooks."""
import difflib
from typing import Dict, Iterable, List, NamedTuple, Optional

import torch
import torch.nn as nn

__all__ = ['Tap', 'FeatureTaps', 'StopForward', 'parse_tap']


class Tap(NamedTuple):
    """A module path, which side of the module is recorded, whether the
    record is a copy (for a tensor that the model later changes in place),
    and which model it is on ('student', or the teacher's name)."""
    path: str
    source: str = 'output'
    copy: bool = False
    model: str = 'student'

    def describe(self) -> str:
        return (f'{self.path!r}'
                if self.source == 'output' else f'{self.path!r} (input)')


def parse_tap(spec, owner: str, model: str = 'student') -> Tap:
    """Turn a config value (``'a.b'`` or ``dict(path=, source=, copy=)``) into
    a Tap. A teacher tap may name its teacher: ``'seg:a.b'``.

    Args:
        spec (str | dict): The tap as written in the config.
        owner (str): Where the spec comes from, for error messages.
        model (str): 'student', or the teacher a path without a
            ``name:`` prefix refers to.
    """
    if isinstance(spec, str):
        spec = dict(path=spec)
    if isinstance(spec, dict) and isinstance(spec.get('path'), str):
        unknown = set(spec) - {'path', 'source', 'copy'}
        if unknown:
            raise ValueError(f'{owner}: unknown tap fields {sorted(unknown)};'
                             f' allowed: path, source, copy')
        source = spec.get('source', 'output')
        if source not in ('output', 'input'):
            raise ValueError(f"{owner}: tap source should be 'output' or "
                             f"'input', but got {source!r}")
        path = spec['path']
        if ':' in path:
            if model == 'student':
                raise ValueError(f'{owner}: a student tap names no model, '
                                 f'but got {path!r}')
            model, path = path.split(':', 1)
        return Tap(path, source, bool(spec.get('copy', False)), model)
    raise TypeError(f"{owner}: a tap should be a module path like "
                    f"'decode_head.conv_seg' or dict(path=..., "
                    f"source='output'|'input', copy=False), but got {spec!r}")


class StopForward(Exception):
    """Raised by a hook once every tap has what it needs, to end a forward
    that would otherwise compute outputs nobody reads (the teacher's)."""


def closest_names(path: str, names: List[str], n: int = 5) -> List[str]:
    """Up to ``n`` of ``names`` closest to ``path`` (for error messages);
    the siblings under the deepest valid parent when none is close."""
    close = difflib.get_close_matches(path, names, n=n, cutoff=0.4)
    if not close:  # fall back to siblings of the deepest valid parent
        parent = path.rsplit('.', 1)[0] if '.' in path else ''
        close = [m for m in names if m.startswith(parent)][:n]
    return close


def _tensors(value) -> List[torch.Tensor]:
    """The tensors in a record (a tensor, or nested tuples/lists/dicts)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


def map_tensors(fn, record):
    """``fn`` applied to every tensor of a record (a tensor, or nested
    tuples/lists/dicts), the structure kept."""
    if isinstance(record, torch.Tensor):
        return fn(record)
    if isinstance(record, (tuple, list)):
        return type(record)(map_tensors(fn, r) for r in record)
    if isinstance(record, dict):
        return {k: map_tensors(fn, v) for k, v in record.items()}
    return record


class FeatureTaps:
    """Forward hooks on named sub-modules that exist only inside ``with``.

    A path is checked against ``model.named_modules()`` when the taps are
    created (a typo raises a ``KeyError`` listing the closest valid names)
    and looked up again each time the hooks are attached, so a module that
    was replaced after the taps were made (mmengine converting (Sync)BN when
    it wraps the model) is the one hooked.

    Records are lists of what each call produced (a module may run more than
    once per forward); :meth:`pop` returns them and forgets them. A record is
    a reference: if the model changes the tensor in place after the hook
    (``out += identity``, an in-place ReLU), :meth:`pop` raises, naming the
    tap and the fix, instead of handing over the changed tensor. A tap with
    ``copy=True`` records a copy instead.

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
        self.model = model
        self.taps = list(dict.fromkeys(taps))
        self.name = name
        self.stop_early = stop_early
        self._resolve()  # fail at build time on a wrong path
        self._handles: list = []
        # tap -> [(record, [(tensor, version at record time)])]
        self._records: Dict[Tap, list] = {}
        self._calls: Optional[Dict[Tap, int]] = None
        #: Called with the tap after each record (used by the Distiller's
        #: first-step checks); None when not needed.
        self.on_record = None

    def _resolve(self) -> Dict[Tap, nn.Module]:
        modules = dict(self.model.named_modules())
        for tap in self.taps:
            if tap.path not in modules:
                close = closest_names(tap.path, [m for m in modules if m])
                raise KeyError(
                    f'{self.name} has no module {tap.path!r}; closest valid '
                    f'names: {close}.'
                    f' List them all with '
                    f'[n for n, _ in model.{self.name}.named_modules()]')
        return {tap: modules[tap.path] for tap in self.taps}

    def _make_hook(self, tap: Tap):

        def record(value) -> None:
            if tap.copy:
                value = map_tensors(torch.Tensor.clone, value)
            # Inside a torch.compile graph the hook is traced, and version
            # counters read there are not those of the tensors the graph
            # returns: the check only runs in eager mode (docs/config.md).
            versions = None if torch.compiler.is_compiling() else [
                (t, t._version) for t in _tensors(value)
            ]
            self._records.setdefault(tap, []).append((value, versions))
            if self.on_record is not None:
                self.on_record(tap)
            if self.stop_early and self._calls is not None and all(
                    len(self._records.get(t, ())) >= n
                    for t, n in self._calls.items()):
                raise StopForward

        if tap.source == 'output':
            return lambda module, args, output: record(output)
        return lambda module, args: record(args[0] if len(args) == 1 else args)

    def __enter__(self) -> 'FeatureTaps':
        self._records = {}
        for tap, module in self._resolve().items():
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

    def _check_unchanged(self, tap: Tap, calls: list) -> None:
        for value, versions in calls:
            if versions and any(t._version != v for t, v in versions):
                raise RuntimeError(
                    f'{self.name} tap {tap.describe()} recorded a tensor '
                    f'that the model changed in place afterwards (e.g. '
                    f'`out += identity` after a norm layer, or an in-place '
                    f'ReLU), so the loss would read a different feature '
                    f'than the module produced. Tap the module whose output '
                    f'is final (e.g. the enclosing block), or record a copy '
                    f'with dict(path={tap.path!r}, source={tap.source!r}, '
                    f'copy=True)')

    def pop(self) -> Dict[Tap, object]:
        """Return the records (one value, or a list for repeated calls) and
        forget them.

        Raises:
            RuntimeError: A tap never fired, or its tensor was changed in
                place after it was recorded.
        """
        records, self._records = self._records, {}
        missing = [t.path for t in self.taps if t not in records]
        if missing:
            raise RuntimeError(
                f'{self.name} forward never ran the tapped modules '
                f'{missing}; tap a module on the path the forward takes')
        for tap, calls in records.items():
            self._check_unchanged(tap, calls)
        if self._calls is None:
            self._calls = {t: len(v) for t, v in records.items()}
        return {
            t: v[0][0] if len(v) == 1 else [value for value, _ in v]
            for t, v in records.items()
        }
