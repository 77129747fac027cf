"""edl: electronic driving licences (ISO/IEC 18013-5 mdoc), issued and verified offline."""
