"""Tools that are neither training nor the library: the multi-seed benchmark and the model comparison."""
