# Distributed training of a comparison run (mmkd.DistillComparison), e.g.
#   bash tools/dist_train.sh configs/comparison/<config>.py 8
# mmengine's default DDP wrapper trains one loss per step, which a comparison
# does not have (each arm steps its own optimizer): this wrapper gives each
# arm its own DistributedDataParallel, so every arm's gradients are averaged
# across processes. A single-process run ignores it. Every comparison config
# lists this file in its _base_.
model_wrapper_cfg = dict(type='mmkd.ComparisonDistributedDataParallel')
