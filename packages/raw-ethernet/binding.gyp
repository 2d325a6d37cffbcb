{
  "targets": [
    {
      "target_name": "raw_ethernet",
      "conditions": [
        ["OS=='linux'", { "sources": ["native/packet_socket.c"] }, { "sources": ["native/unsupported.c"] }]
      ],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "defines": ["_GNU_SOURCE"]
    }
  ]
}
