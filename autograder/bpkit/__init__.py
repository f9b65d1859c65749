"""Student-side helpers shipped with every release as bpkit/: numpy and the standard library only."""
