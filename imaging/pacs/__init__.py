"""Import from PACS over DICOMweb: `client` (QIDO-RS search and WADO-RS retrieval, pure dicomweb-client) and
`services` (the search and the import job, with the site's PACS settings). Retrieved series are imported by the
one import path, which de-identifies them before anything is stored."""
