#include "nst/nst.h"

const char *nst_status_name(nst_status code)
{
    switch (code) {
    case NST_OK: return "ok";
    case NST_ERR_INVALID: return "invalid argument";
    case NST_ERR_IO: return "input/output error";
    case NST_ERR_FORMAT: return "malformed file";
    case NST_ERR_NOMEM: return "out of memory";
    case NST_ERR_CANCELLED: return "cancelled";
    case NST_ERR_NUMERIC: return "numerical failure";
    case NST_ERR_NOT_FOUND: return "not found";
    case NST_ERR_DEVICE: return "device error";
    }
    return "unknown error";
}
