"""What workflow authors touch: nodes, the decorator, the contexts, the loader."""
