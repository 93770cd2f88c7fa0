"""model-index.yml and the metafiles it imports (what ``mim search mmkd``
reads): every shipped config is listed, every listed config exists, and the
entries have the fields of MMDetection's metafiles."""
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / 'configs'


def _index() -> dict:
    return yaml.safe_load((ROOT / 'model-index.yml').read_text())


def _metafiles():
    return [ROOT / path for path in _index()['Import']]


def _models():
    for path in _metafiles():
        for model in yaml.safe_load(path.read_text()).get('Models', []):
            yield path, model


def _collections():
    for path in _metafiles():
        for coll in yaml.safe_load(path.read_text()).get('Collections', []):
            yield path, coll


def test_index_imports_every_metafile():
    listed = {p.relative_to(ROOT).as_posix() for p in _metafiles()}
    found = {
        p.relative_to(ROOT).as_posix()
        for p in CONFIGS.glob('*/metafile.yml')
    }
    assert listed == found
    assert all(p.is_file() for p in _metafiles())


def test_mim_reads_the_index_of_the_package():
    # mim looks for <package>/.mim/model-index.yml; configs/ is linked there
    shipped = ROOT / 'mmkd' / '.mim' / 'model-index.yml'
    assert shipped.resolve() == (ROOT / 'model-index.yml').resolve()
    assert (ROOT / 'mmkd' / '.mim' / 'configs').resolve() == CONFIGS


def test_every_shipped_config_is_listed_and_every_listed_one_exists():
    shipped = {
        p.relative_to(ROOT).as_posix()
        for p in CONFIGS.rglob('*.py') if '_base_' not in p.parts
    }
    listed = [model['Config'] for _, model in _models()]
    missing = sorted(shipped - set(listed))
    assert not missing, f'configs missing from the metafiles: {missing}'
    absent = sorted(set(listed) - shipped)
    assert not absent, f'metafiles list configs that do not exist: {absent}'


def test_model_names_are_unique_and_name_their_config():
    names = [model['Name'] for _, model in _models()]
    assert len(names) == len(set(names))
    for _, model in _models():
        assert model['Name'] == Path(model['Config']).stem, model['Name']


def test_collections_have_the_fields_of_mmdetection_metafiles():
    collections = {}
    for path, coll in _collections():
        assert coll['Name'] not in collections, coll['Name']
        collections[coll['Name']] = coll
        assert isinstance(coll.get('Metadata'), dict), coll['Name']
        assert (ROOT / coll['README']).is_file(), coll['Name']
        code = coll['Code']
        assert (ROOT / code['URL'].split('#')[0]).is_file(), code
        if 'Paper' in coll:
            assert coll['Paper']['URL'].startswith('https://arxiv.org/abs/')
            assert coll['Paper']['Title']
    for path, model in _models():
        assert model['In Collection'] in collections, (path, model['Name'])


@pytest.mark.parametrize(
    'path', [p.relative_to(ROOT).as_posix() for p in _metafiles()])
def test_results_name_task_dataset_and_numeric_metrics(path):
    for model in yaml.safe_load((ROOT / path).read_text())['Models']:
        assert isinstance(model.get('Metadata'), dict), model['Name']
        for result in model.get('Results', []):
            assert result['Task'] and result['Dataset'], model['Name']
            assert result['Metrics'], model['Name']
            for metric, value in result['Metrics'].items():
                assert isinstance(value, (int, float)), (model['Name'], metric)
