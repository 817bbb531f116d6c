"""numbavm device layer: HTIF, CLINT, and (later) UART, PLIC, virtio."""
