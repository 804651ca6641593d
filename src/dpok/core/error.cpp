// Errors are header-only; this unit anchors the core library.
#include "dpok/core/error.h"
