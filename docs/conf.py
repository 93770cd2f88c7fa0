"""Sphinx configuration of mmkd's documentation (``make docs``).

The Markdown pages are read by myst-parser; ``api.rst`` documents mmkd's
public classes and functions from their docstrings. The build is strict
(``-W --keep-going -n`` in the Makefile): a broken link, a bad
cross-reference to an mmkd object or a registered type missing from the API
reference fails it. References to other libraries' objects (torch,
mmengine, the OpenMMLab libraries) are not resolved: the build is offline.
"""
import os
import sys

sys.path.insert(0, os.path.abspath('..'))

import mmkd  # noqa: E402  (registers every type the API check reads)

project = 'mmkd'
copyright = 'mmkd contributors'
author = 'mmkd contributors'
version = release = mmkd.__version__

extensions = [
    'myst_parser',
    'sphinx.ext.autodoc',
    'sphinx.ext.autosummary',
    'sphinx.ext.napoleon',
    'sphinx.ext.viewcode',
]
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
root_doc = 'index'
exclude_patterns = ['_build', 'Thumbs.db', '.DS_Store']

# Markdown: heading anchors for `page.md#section` links, GitHub-style tables.
myst_heading_anchors = 4
myst_enable_extensions = ['colon_fence']

# API reference
autodoc_member_order = 'bysource'
autodoc_typehints = 'description'
# A method without its own docstring shows none (not mmengine's or torch's).
autodoc_inherit_docstrings = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
autosummary_generate = False

# Every cross-reference must resolve, except to objects of other libraries
# (no network at build time for their inventories) and builtins/typing.
nitpicky = True
_EXTERNAL = ('torch', 'mmengine', 'mmcv', 'mmdet', 'mmseg', 'mmpretrain',
             'numpy', 'np', 'typing', 'collections', 'abc', 'nn', 'F',
             'pathlib', 'os', 'Tensor', 'torch_tensor', 'optional')
nitpick_ignore_regex = [
    (r'py:.*', r'(%s)(\..*)?' % '|'.join(_EXTERNAL)),
    (r'py:.*', r'(int|float|str|bool|dict|list|tuple|set|bytes|object|None|'
     r'type|callable|Callable|Sequence|Mapping|Iterable|Iterator|Optional|'
     r'Union|Literal|Any|Dict|List|Tuple|Type|Path|Module|Parameter|'
     r'Config|ConfigDict|BaseModule|InstanceData|PixelData|BaseDataElement|'
     r'DetDataSample|SegDataSample|DataSample|SampleList|InstanceList|'
     r'OptSampleList|OptConfigType|ConfigType|OptMultiConfig|MultiConfig|'
     r'OptimWrapper|OptimWrapperDict|Runner|Hook|BaseModel|BatchGT|'
     r'ForwardResults|LongTensor|BoolTensor|FloatTensor|device|dtype|'
     r'data_preprocessor|EpochBasedTrainLoop|IterBasedTrainLoop|'
     r'DinoTransformerDecoder|DeformableDetrTransformerDecoder|'
     r'ImageClassifier|VisionTransformer|MAEViT|MAEPretrainDecoder|'
     r'BaseSelfSupervisor|DINO|DINOHead|DeformableDETR|'
     r'DeformableDETRHead|EncoderDecoder|BaseSegmentor|BaseDetector|'
     r'DistributedDataParallel|MMDistributedDataParallel)'),
]

html_theme = 'sphinx_rtd_theme'
html_title = f'mmkd {release}'
html_static_path = ['_static']
html_css_files = ['mmkd.css']
html_theme_options = {'navigation_depth': 3, 'collapse_navigation': False}
html_show_sourcelink = False


def _documented_registered_types(app, env):
    """Warn (an error under ``-W``) for a type registered in mmkd's
    registries that the API reference does not document."""
    from sphinx.util import logging

    from mmkd import registry
    logger = logging.getLogger('mmkd.api')
    documented = {
        name.rsplit('.', 1)[-1]
        for name, obj in env.get_domain('py').objects.items()
        if obj.objtype in ('class', 'function')
    }
    for reg_name in ('MODELS', 'HOOKS', 'DATASETS', 'LOOPS',
                     'OPTIM_WRAPPER_CONSTRUCTORS'):
        reg = getattr(registry, reg_name)
        reg.import_from_location()
        for name in sorted(reg.module_dict):
            if name not in documented:
                logger.warning(
                    f'{reg_name} registers mmkd.{name}, which docs/api.rst '
                    'does not document')


def _skip_attributes(app, what, name, obj, skip, options):
    """Data attributes of classes (``#:`` comments on instance attributes)
    are implementation details; methods, properties and classes stay."""
    import inspect
    if what != 'class' or inspect.isroutine(obj) or inspect.isclass(obj) \
            or isinstance(obj, (property, classmethod, staticmethod)):
        return None
    return True


def _mmkd_object(target: str, module: str = '', cls: str = ''):
    """The mmkd object a reference names, or None: ``mmkd.a.b.Name``,
    ``mmkd.Name`` (a config's type name), ``name`` of the class whose
    docstring refers to it, or ``Name`` of one of mmkd's modules."""
    import importlib
    candidates = [target]
    if cls and module.startswith('mmkd'):
        candidates.append(f'{module}.{cls}.{target}')
    if '.' not in target and module.startswith('mmkd'):
        # a short name in an mmkd docstring: a name of one of mmkd's modules
        candidates += [
            f'{name}.{target}' for name, mod in sorted(sys.modules.items())
            if name.startswith('mmkd') and hasattr(mod, target)
        ]
    for path in candidates:
        parts = path.split('.')
        for cut in range(len(parts) - 1, 0, -1):
            try:
                obj = importlib.import_module('.'.join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                break
            return obj
    if target.startswith('mmkd.') and target.count('.') == 1:
        from mmkd import registry
        name = target.split('.', 1)[1]
        for reg_name in ('MODELS', 'HOOKS', 'DATASETS', 'LOOPS',
                         'OPTIM_WRAPPER_CONSTRUCTORS'):
            found = getattr(registry, reg_name).module_dict.get(name)
            if found is not None:
                return found
    return None


def _resolve_mmkd_reference(app, env, node, contnode):
    """Resolve a Python reference to an mmkd object documented under another
    name (``mmkd.BPKDLoss`` as configs write it, ``mmkd.det.fdr_ops.X``
    for the documented ``mmkd.det.X``). A reference to an mmkd object that
    the API reference does not describe is shown as code, unlinked; one to
    an object that does not exist stays a warning (an error under -W)."""
    if node.get('refdomain') != 'py':
        return None
    target = node.get('reftarget', '')
    obj = _mmkd_object(target,
                       node.get('py:module') or '',
                       node.get('py:class') or '')
    if obj is None:
        return None
    domain = env.get_domain('py')
    name = getattr(obj, '__qualname__', target.rsplit('.', 1)[-1])
    documented = [
        full for full, entry in domain.objects.items()
        if full.startswith('mmkd.') and full.endswith('.' + name)
        and not getattr(entry, 'aliased', False)
    ]
    if documented:
        from sphinx.util.nodes import make_refnode
        entry = domain.objects[sorted(documented, key=len)[0]]
        return make_refnode(app.builder, node['refdoc'], entry.docname,
                            entry.node_id, contnode, target)
    return contnode


def setup(app):
    app.connect('env-check-consistency', _documented_registered_types)
    app.connect('autodoc-skip-member', _skip_attributes)
    app.connect('missing-reference', _resolve_mmkd_reference)
