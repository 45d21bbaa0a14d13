"""What ``--json`` prints: a table as a JSON list of records."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

WHOLE_NUMBERS = ("n", "n_exposed", "n_groups")


def json_records(table: pd.DataFrame, *, whole=WHOLE_NUMBERS) -> str:
    """A table as the JSON list ``--json`` prints: missing values as null, the counts named in
    ``whole`` as whole numbers."""
    records = table.replace({np.nan: None}).to_dict(orient="records")
    for record in records:
        for key in whole:
            if isinstance(record.get(key), float) and record[key].is_integer():
                record[key] = int(record[key])
    return json.dumps(records, ensure_ascii=False, indent=1, default=str)
