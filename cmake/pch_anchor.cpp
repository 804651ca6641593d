// Anchor translation unit for the shared LibTorch precompiled header (cmake/subsystem.cmake).
