"""The data path: the schema record, CSV reading and validation, splits, scaling, windows, and the DataModule.

`inputs.py` encodes the network's input rows, one way for training and for `predict`.
`module.py` is the only part that imports Lightning; import it explicitly where training needs it.
"""
