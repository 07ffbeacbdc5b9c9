"""Knowledge base: loaders, chunking, embeddings and the Chroma + BM25 index."""
