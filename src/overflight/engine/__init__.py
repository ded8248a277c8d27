"""Engines that run the pipeline over partitions: local and Dask."""
