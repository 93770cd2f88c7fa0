"""Build a student or teacher from a config path or a model dict, and load a
teacher checkpoint with its key report."""
import copy
import difflib
import os
import os.path as osp
from typing import List, Optional, Tuple

import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmengine.logging import MMLogger, print_log
from mmengine.registry import MODELS, DefaultScope

__all__ = [
    'load_model_config', 'model_config', 'build_model',
    'load_teacher_checkpoint'
]


def _package_configs(package: str) -> Optional[str]:
    try:
        from mmengine.utils import get_installed_path
        root = osp.join(get_installed_path(package), '.mim', 'configs')
    except Exception:
        return None
    return root if osp.isdir(root) else None


def _missing_config_error(path: str) -> FileNotFoundError:
    """Name the missing config and the closest existing ones."""
    hint = ''
    if '::' in path:
        package, rel = path.split('::', 1)
        root = _package_configs(package)
        if root is not None:
            names = [
                osp.relpath(osp.join(d, f), root)
                for d, _, files in os.walk(root) for f in files
                if f.endswith('.py')
            ]
            close = difflib.get_close_matches(rel, names, n=5, cutoff=0.5)
            if close:
                hint = ' Closest configs: ' + ', '.join(f'{package}::{c}'
                                                        for c in close) + '.'
    return FileNotFoundError(
        f'config {path!r} does not exist.{hint} A model config is a local '
        f"file or 'package::relative/path.py' (mmdet::, mmseg::, "
        f'mmpretrain::, mmkd::).')


def load_model_config(path: str) -> Config:
    """Load a config from a local file or an installed package (``mmseg::``).

    ``Config.fromfile`` does not resolve ``package::`` paths, so they go
    through ``mmengine.hub.get_config`` (which does).
    """
    if '::' in path:
        from mmengine.hub import get_config
        try:
            return get_config(path)
        except (FileNotFoundError, ValueError, ModuleNotFoundError) as exc:
            if isinstance(exc, ModuleNotFoundError):
                package = path.split('::')[0]
                raise ModuleNotFoundError(
                    f'config {path!r} needs the package {package!r}, which '
                    f'is not installed') from exc
            raise _missing_config_error(path) from exc
    if not osp.isfile(path):
        raise _missing_config_error(path)
    return Config.fromfile(path)


def model_config(cfg: Config) -> ConfigDict:
    """A copy of ``cfg.model`` as mmengine's Runner builds it: a top-level
    ``data_preprocessor`` (where MMPretrain's configs keep their
    normalisation) fills the model's when the model has none."""
    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor',
                             copy.deepcopy(cfg.data_preprocessor))
    return model_cfg


def build_model(spec: dict, role: str) -> Tuple[nn.Module, Optional[str]]:
    """Build a model from ``dict(config=..., model=...)``.

    Args:
        spec (dict): ``config`` (path), ``model`` (a model dict, or overrides
            merged into the config's model when both are given) and
            ``scope`` (default scope to build under; defaults to the
            config's ``default_scope``).
        role (str): 'student' or 'teacher', for error messages.

    Returns:
        tuple: The model and the scope it was built under.
    """
    if not isinstance(spec, (dict, ConfigDict)):
        raise TypeError(f'{role} should be a dict with config= and/or model='
                        f', but got {type(spec).__name__}')
    allowed = {'config', 'model', 'scope'}
    if role == 'teacher':
        allowed |= {'checkpoint', 'strict', 'preprocessing', 'precision'}
    unknown = set(spec) - allowed
    if unknown:
        raise ValueError(f'{role} has unknown fields {sorted(unknown)}; '
                         f'allowed: {", ".join(sorted(allowed))}')
    scope = spec.get('scope')
    if spec.get('config') is not None:
        cfg = load_model_config(spec['config'])
        model_cfg = model_config(cfg)
        if spec.get('model'):
            model_cfg = Config(dict(model=model_cfg))
            model_cfg.merge_from_dict(dict(model=spec['model']))
            model_cfg = model_cfg.model
        scope = scope or cfg.get('default_scope')
    elif spec.get('model') is not None:
        # OpenMMLab models read sub-configs as attributes (cfg.test_cfg.mode)
        model_cfg = ConfigDict(copy.deepcopy(spec['model']))
    else:
        raise ValueError(f'{role} needs config= (a config path) or model= '
                         f'(a model dict)')
    if scope is None:
        current = DefaultScope.get_current_instance()
        scope = current.scope_name if current is not None else None
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(model_cfg)
    return model, scope


def load_teacher_checkpoint(model: nn.Module, filename: str) -> List[str]:
    """Load a checkpoint (local path or URL) on the CPU, non-strictly, and
    report missing and unexpected keys.

    Returns:
        list[str]: The model's state-dict keys the checkpoint did not fill
        (``num_batches_tracked`` counters aside). The Distiller decides which
        of them matter (those its teacher taps depend on).

    Raises:
        FileNotFoundError: The local file does not exist.
        RuntimeError: The file cannot be read, or none of its keys fit.
    """
    from mmengine.runner.checkpoint import _load_checkpoint
    is_url = filename.startswith(('http://', 'https://'))
    if not is_url and not osp.isfile(filename):
        raise FileNotFoundError(
            f'teacher checkpoint {filename!r} does not exist; set '
            f'teacher.checkpoint to a local .pth file or a URL')
    try:
        ckpt = _load_checkpoint(filename, map_location='cpu')
    except Exception as exc:
        raise RuntimeError(
            f'cannot read teacher checkpoint {filename!r} '
            f'({type(exc).__name__}: {exc}); is it a complete torch '
            f'checkpoint?') from exc
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise RuntimeError(f'teacher checkpoint {filename!r} holds no '
                           f'state_dict')
    # A distiller checkpoint can serve as a teacher: keep its student.
    for prefix in ('module.', 'student.'):
        if any(k.startswith(prefix) for k in state):
            state = {
                k[len(prefix):]: v
                for k, v in state.items() if k.startswith(prefix)
            }
    result = model.load_state_dict(state, strict=False)
    own = model.state_dict()
    if len(result.missing_keys) == len(own):
        raise RuntimeError(
            f'no key of teacher checkpoint {filename!r} fits the teacher '
            f'model (e.g. {sorted(state)[:3]} vs {sorted(own)[:3]}); is it '
            f'the checkpoint of this teacher config?')
    logger = MMLogger.get_current_instance()
    print_log(f'teacher checkpoint loaded from {filename}', logger)
    missing = [
        k for k in result.missing_keys if not k.endswith('num_batches_tracked')
    ]
    if missing:
        print_log(
            f'teacher checkpoint misses {len(missing)} keys: {missing}',
            logger,
            level=30)
    if result.unexpected_keys:
        print_log(
            f'teacher checkpoint has {len(result.unexpected_keys)} unexpected '
            f'keys: {result.unexpected_keys}',
            logger,
            level=30)
    return missing
