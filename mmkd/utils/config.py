"""Config helpers the tools share: one answer to "is this a Distiller?"."""
from typing import Any

__all__ = ['is_distiller_config', 'student_only']

#: The ``type`` strings that build :class:`mmkd.distillers.Distiller`:
#: scoped (any default scope) or bare (a config whose default scope is mmkd).
DISTILLER_TYPES = ('mmkd.Distiller', 'Distiller')
#: Models that hold teachers but predict with a student: Distillers and
#: comparison runs (whose first arm predicts).
TEACHER_HOLDERS = DISTILLER_TYPES + ('mmkd.DistillComparison',
                                     'DistillComparison')


def is_distiller_config(cfg: Any) -> bool:
    """Whether a config builds a ``mmkd.Distiller``.

    Args:
        cfg (Config | dict): A full config (its ``model`` is read) or a model
            config. The type may be a string or the class itself (mmengine's
            pure-Python configs).

    Returns:
        bool: True for a Distiller (or a subclass of it).

    Example:
        >>> is_distiller_config(dict(model=dict(type='mmkd.Distiller')))
        True
        >>> is_distiller_config(dict(type='mmseg.EncoderDecoder'))
        False
    """
    model = cfg.get('model', cfg) if 'type' not in cfg else cfg
    model_type = model.get('type') if hasattr(model, 'get') else None
    if isinstance(model_type, str):
        return model_type in DISTILLER_TYPES
    if isinstance(model_type, type):
        from mmkd.distillers import Distiller
        return issubclass(model_type, Distiller)
    return False


def student_only(cfg: Any) -> bool:
    """Prepare a config for prediction or evaluation by the student alone.

    A Distiller predicts and evaluates with its student (a comparison run
    with its first arm's); the teacher does not run, so its checkpoint is not
    loaded (no download, no missing-file error for a teacher trained
    elsewhere). Other configs are left unchanged.

    Args:
        cfg (Config): A full config; changed in place.

    Returns:
        bool: Whether ``cfg`` is a Distiller (or comparison) config.
    """
    model_type = cfg.get('model', {}).get('type')
    if not (is_distiller_config(cfg) or model_type in TEACHER_HOLDERS):
        return False
    cfg.model.load_teacher_checkpoint = False
    return True
