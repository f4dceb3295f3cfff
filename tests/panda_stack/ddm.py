"""A test-only DDM client for JEDI: PanDA's generic client plus the no-op dataset operations its
generic post-processor calls when a task ends (``freezeDataset`` and friends).

The generic client has no ``freezeDataset``, so without this module JEDI's post-processor fails
and no task ever reaches ``done``. No data management system runs here: output files stay where
the test pilot left them, and SHREK's own catalogue is not involved. Loaded by JEDI from
``[ddm] modConfig`` inside the PanDA environment.
"""

from pandajedi.jediddm.GenDDMClient import GenDDMClient


class TestDDMClient(GenDDMClient):
    def freezeDataset(self, datasetName, ignoreUnknown=False):
        return self.SC_SUCCEEDED, True

    def deleteDataset(self, datasetName, emptyOnly, ignoreUnknown=False):
        return self.SC_SUCCEEDED, ""

    def setDatasetMetadata(self, datasetName, metadataName, metadaValue):
        return self.SC_SUCCEEDED, True

    def updateReplicationRules(self, datasetName, dataMap):
        return self.SC_SUCCEEDED, True

    def finger(self, dn):
        return self.SC_SUCCEEDED, {"nickname": "jdoe", "email": None}
