"""Past one process: sharded sampling into a Parquet dataset folder, locally or on Ray.

``sampler.ShardSampler`` finishes one shard of a saved model (the same rows `synthgen sample`
writes to a file); ``dataset.write_dataset`` writes the shards as part files with a manifest,
the folder appearing whole or not at all; ``ray_engine`` runs the shards on a Ray cluster
(the optional ``ray`` extra). The bytes are the same whatever the engine or worker count.
"""
