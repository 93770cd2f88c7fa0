from .config import is_distiller_config, student_only
from .fake_batch import fake_batch, fit_preprocessor, num_classes_of

__all__ = [
    'is_distiller_config', 'student_only', 'fake_batch', 'fit_preprocessor',
    'num_classes_of'
]
