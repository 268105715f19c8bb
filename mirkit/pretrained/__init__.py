"""mirkit.pretrained."""
