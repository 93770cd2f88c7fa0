"""Print the versions mmkd runs on: ``python -m mmkd.env``."""
import importlib
import platform
import sys
from collections import OrderedDict

__all__ = ['collect_env']


def _version(module: str) -> str:
    try:
        return importlib.import_module(module).__version__
    except Exception as exc:  # report, don't crash: this is a diagnostic
        return f'not importable ({type(exc).__name__}: {exc})'


def _mmcv_ops() -> str:
    try:
        from mmcv.ops import nms  # noqa: F401
        from mmcv.utils import ext_loader
        ext_loader.load_ext('_ext', ['nms'])
        return 'compiled'
    except Exception as exc:
        return f'missing ({type(exc).__name__}: {exc})'


def collect_env() -> 'OrderedDict[str, str]':
    """Versions of Python, torch, the OpenMMLab stack and mmkd."""
    import torch
    env = OrderedDict()
    env['Python'] = sys.version.split()[0]
    env['Platform'] = platform.platform()
    env['torch'] = torch.__version__
    env['CUDA available'] = str(torch.cuda.is_available())
    if torch.cuda.is_available():
        env['CUDA (torch built with)'] = str(torch.version.cuda)
        env['GPUs'] = ', '.join(
            torch.cuda.get_device_name(i)
            for i in range(torch.cuda.device_count()))
    for name in ('torchvision', 'numpy', 'mmengine', 'mmcv', 'mmdet', 'mmseg',
                 'mmpretrain', 'mmkd'):
        env[name] = _version(name)
    env['mmcv ops'] = _mmcv_ops()
    return env


if __name__ == '__main__':
    for key, value in collect_env().items():
        print(f'{key}: {value}')
