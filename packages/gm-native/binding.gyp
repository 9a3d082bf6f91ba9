{
  "targets": [
    {
      "target_name": "gm_native",
      "sources": ["src/gm_native.c", "src/state_native.c"],
      "defines": ["OPENSSL_API_COMPAT=30000", "OPENSSL_NO_DEPRECATED"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "xcode_settings": {"OTHER_CFLAGS": ["-O2", "-Wall", "-Wextra"]}
    }
  ]
}
