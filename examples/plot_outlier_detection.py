"""
Outlier detection in a table, and why each row is flagged
=========================================================

:class:`~skdae.DAEOutlierDetector` scores each row by how badly an ensemble
of small denoising autoencoders, trained on unlabelled data, reconstructs it.
Here the table is scikit-learn's breast-cancer data (30 measurements of cell
nuclei) built the way outlier benchmarks build their "WBC" table: every
benign tumour, plus a few malignant ones as the anomalies to find. The
detector never sees the labels; they only measure it afterwards, against
:class:`~sklearn.ensemble.IsolationForest`.

Then :meth:`~skdae.DAEOutlierDetector.reconstruction_error` with
``per_feature=True`` splits each flagged row's error over the columns: the
measurements the autoencoders could not reproduce from the rest of the row.
"""

# %%
# A contaminated table
# --------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from skdae import DAEOutlierDetector

data = load_breast_cancer()
rng = np.random.RandomState(0)
benign = np.flatnonzero(data.target == 1)
malignant = rng.choice(np.flatnonzero(data.target == 0), size=15, replace=False)
rows = np.concatenate([benign, malignant])
X = data.data[rows]
is_anomaly = np.r_[np.zeros(len(benign)), np.ones(len(malignant))]
print(f"{len(X)} rows, {X.shape[1]} columns, {len(malignant)} anomalies")

# %%
# Fit without labels, score, threshold
# ------------------------------------
# The columns differ in scale by four orders of magnitude; the detector
# standardises them itself. ``contamination="auto"`` flags rows whose error
# is far above the bulk of the training errors (a robust 2.5-sigma rule), so
# no guess of the outlier fraction is needed.
detector = DAEOutlierDetector(random_state=0).fit(X)
scores = detector.score_samples(X)  # higher is more normal
flagged = detector.predict(X) == -1

forest = IsolationForest(random_state=0).fit(X)
print(f"ROC AUC: DAEOutlierDetector {roc_auc_score(is_anomaly, -scores):.3f}, "
      f"IsolationForest {roc_auc_score(is_anomaly, -forest.score_samples(X)):.3f}")
print(f"flagged {flagged.sum()} rows, of which {int(is_anomaly[flagged].sum())} "
      "are anomalies")

# %%
# Why the top rows are flagged
# ----------------------------
# The per-feature errors of a row sum to its error. Each row of the picture
# is one of the eight least normal rows (an "M" marks the truly malignant
# ones), each column one measurement; a dark cell is a value the model could
# not reconstruct.
top = np.argsort(scores)[:8]
per_feature = detector.reconstruction_error(X[top], per_feature=True)
share = per_feature / per_feature.sum(axis=1, keepdims=True)

fig, ax = plt.subplots(figsize=(9, 4))
image = ax.imshow(share, cmap="Reds", aspect="auto")
ax.set_xticks(range(X.shape[1]))
ax.set_xticklabels(data.feature_names, rotation=90, fontsize=7)
ax.set_yticks(range(len(top)))
ax.set_yticklabels([f"row {i}{' M' if is_anomaly[i] else ''}" for i in top], fontsize=8)
fig.colorbar(image, ax=ax, label="share of the row's error")
ax.set_title("Per-feature reconstruction error of the 8 least normal rows")
fig.tight_layout()

for i, row in zip(top[:3], share[:3]):
    worst = np.argsort(row)[::-1][:3]
    print(f"row {i}: " + ", ".join(
        f"{data.feature_names[j]} {100 * row[j]:.0f}%" for j in worst))
plt.show()
