"""Count the rows of the warehouse table (run by the company.data/row-count flow)."""

import os

table = os.environ["WAREHOUSE_TABLE"]
print(f"counting rows of {table}")
