"""
The eight problems with many factors of variation
=================================================

The denoising autoencoder papers (Vincent et al. 2008, 2010) judge the model
on eight image problems of Larochelle et al. (2007): five MNIST variations
(basic, rotated, random background, image background, both) and three shape
problems (tall versus wide rectangles, the same on natural-image textures,
convex versus non-convex sets). Their archives are not shipped by any
package; :mod:`skdae.datasets` regenerates them from the papers'
descriptions. This example shows a grid of samples of each, as the papers'
Figure 1 does.

The MNIST variations need MNIST on disk (:func:`skdae.datasets.fetch_mnist`
finds it through ``SKDAE_DATA``); without it only the three shape problems
are drawn.
"""

# %%
# Make a few images of each problem
# ---------------------------------
import matplotlib.pyplot as plt
import numpy as np

from skdae.datasets import make_convex, make_mnist_variations, make_rectangles

n_show = 8  # images per problem
sizes = dict(n_train=n_show, n_valid=1, n_test=1, random_state=0)
problems = {
    "rectangles": make_rectangles(**sizes),
    "rectangles-image": make_rectangles(image=True, **sizes),
    "convex": make_convex(**sizes),
}
try:
    for variant in ("basic", "rot", "back-rand", "back-image", "rot-back-image"):
        problems[f"mnist-{variant}"] = make_mnist_variations(
            variant, download_if_missing=False, **sizes
        )
except FileNotFoundError as exc:
    print("MNIST not found, drawing the shape problems only:", str(exc).splitlines()[0])

for name, data in problems.items():
    print(f"{name:<22} labels of the first images: {data.y_train[:n_show].tolist()}")

# %%
# One row per problem
# -------------------
# The label is under each image: the digit for MNIST, 1 for a tall rectangle
# and 1 for a convex set.
fig, axes = plt.subplots(len(problems), n_show, figsize=(n_show * 0.9, len(problems) * 1.05))
axes = np.atleast_2d(axes)
for row, (name, data) in zip(axes, problems.items()):
    for ax, x, y in zip(row, data.X_train, data.y_train):
        ax.imshow(x.reshape(28, 28), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(str(y), fontsize=7, labelpad=1)
    row[0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
fig.tight_layout()
plt.show()
