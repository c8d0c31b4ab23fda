{
  "targets": [
    {
      "target_name": "sextant_bpf",
      "sources": ["src/native/addon.cc", "src/native/ringbuf.cc", "src/native/uprobes.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_CPP_EXCEPTIONS", "NAPI_VERSION=8"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O2"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    }
  ]
}
