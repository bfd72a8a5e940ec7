#!/usr/bin/env bash
# Retrains models/fmnist-vit bit for bit: the run as it happened, with the changes of length and
# the warm restart it went through (MODEL_CARD.md, "Training recipe"). Each step resumes the
# previous one's state in the run directory; every shuffle and augmentation derives from the seed,
# so the result does not depend on where a run was stopped. About 3.5 hours on a 2-core machine.
#   npm run train:bundled            (or: bash models/fmnist-vit/train.sh [run directory])
set -euo pipefail
cd "$(dirname "$0")/../.."
run="${1:-out/train/fmnist-vit}"
train() { npx tokenscope train --out "$run" "$@"; }

train --epochs 10 --stop-after 6 --hidden 64 --depth 6 --heads 2 --mlp 128 --batch 64 --lr 1e-3 --seed 0
train --resume --epochs 12 --stop-after 8
train --resume --epochs 14 --stop-at-step 8548
train --resume --epochs 12
train --resume --epochs 20 --restart-lr 4e-4 --stop-at-step 14784
train --resume --epochs 24 --export models/fmnist-vit
