from .config import is_distiller_config, student_only

__all__ = ['is_distiller_config', 'student_only']
