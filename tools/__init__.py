"""Course tooling: lab generation, exports, notebook building, benchmarks. Not shipped to students."""
