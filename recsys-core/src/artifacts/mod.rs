//! Manifest v1 and the five artifact types: typed models, parsing, version hashes, verification.
