"""Stage 5 fed from pandas: a vertex table, one row per vertex, and a table of stops.

.venv/bin/python docs/stage5_from_a_table.py
"""

import numpy as np
import pandas as pd
from poly_match_stage5 import main

vertices = pd.DataFrame(
    {
        "polygon": [7, 7, 7, 9, 9, 9, 9],
        "x": [0.0, 4.0, 0.0, 20.0, 21.0, 21.0, 20.0],
        "y": [0.0, 0.0, 3.0, 0.0, 0.0, 1.0, 1.0],
    }
)
stops = pd.DataFrame({"x": [1.0, 50.0, 19.0], "y": [1.0, 50.0, 0.0]})

# Each polygon's rows together: a polygon starts where the id changes; then the end.
ids = vertices["polygon"].to_numpy()
offsets = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1], True])
stop, polygon = main(vertices["x"], vertices["y"], offsets, stops[["x", "y"]])
pairs = pd.DataFrame({"stop": stop, "zone": ids[offsets[polygon]]})
print(pairs.to_string(index=False))
