"""A zaak in each municipality's zaaksysteem for every case, through the ZGW Zaken API (issue 24, item 5)."""
