"""mmkd: knowledge distillation for OpenMMLab.

The OpenMMLab stack (torch, mmcv built with its ops, mmdet, mmseg,
mmpretrain) is not installed by ``pip install``: it depends on the user's
torch and CUDA. See docs/get_started.md. ``import mmkd`` needs only
mmengine: it imports its MMDetection and MMSegmentation parts when those
libraries are installed (``mmkd/__init__.py``).
"""
import os.path as osp
from setuptools import find_packages, setup

here = osp.dirname(osp.abspath(__file__))
version = {}
with open(osp.join(here, 'mmkd', 'version.py')) as f:
    exec(f.read(), version)

setup(
    name='mmkd',
    version=version['__version__'],
    description='Knowledge distillation for OpenMMLab '
    '(MMDetection, MMSegmentation, MMPretrain)',
    long_description=open(osp.join(here, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.8',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
    # configs and tools ship inside the package (mmkd/.mim/configs and
    # mmkd/.mim/tools, links to configs/ and tools/ in the source tree), so
    # `mmkd::cwd/...` resolves after `pip install`, like `mmdet::` and
    # `mmseg::`, and `mim train mmkd CONFIG` finds mmkd's tools/train.py;
    # `mim search mmkd` reads mmkd/.mim/model-index.yml (a link to
    # model-index.yml) and the configs' metafile.yml files it imports.
    package_data={
        'mmkd': [
            '.mim/model-index.yml', '.mim/configs/**/*.py',
            '.mim/configs/**/*.md', '.mim/configs/**/*.yml', '.mim/tools/*.py',
            '.mim/tools/*.sh', '.mim/tools/analysis/*.py'
        ]
    },
    include_package_data=True,
    install_requires=['mmengine>=0.10.0,<1.0.0', 'numpy'],
    extras_require={
        'tests': ['pytest', 'pytest-xdist'],
        'openmmlab': [
            'mmdet==3.3.0', 'mmsegmentation==1.2.2', 'mmpretrain==1.2.0',
            'ftfy', 'regex'
        ],
    },
    zip_safe=False)
