# A small MMPretrain teacher pretrained here, for the CamVid ProC-KD pair: a
# ResNet-18 classifier of BCCD blood-cell crops (RBC, WBC, Platelets; 60 x 60
# px): another domain and label space than CamVid's street classes. From
# scratch, 30 epochs. Make the crops, then train:
#   python tools/dataset_converters/classification_crops.py bccd \
#       ../shared/data/bccd data/bccd_cells
#   python tools/train.py configs/prockd/resnet18_1xb64-30e_bccd-cells-60px.py
_base_ = ['./resnet18_1xb64-30e_camvid-tiles-60px.py']
classes = ('RBC', 'WBC', 'Platelets')
data_root = 'data/bccd_cells/'
model = dict(
    data_preprocessor=dict(num_classes=len(classes)),
    head=dict(num_classes=len(classes)))
train_dataloader = dict(
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes)))
val_dataloader = dict(
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes)))
test_dataloader = val_dataloader
