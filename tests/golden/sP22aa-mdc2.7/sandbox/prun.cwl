# Validation-only: see doc.
cwlVersion: v1.0
class: CommandLineTool
doc: Validation-only description of PanDA's prun, so that cwltool --validate accepts workflow.cwl. PanDA
  maps any step whose run is prun.cwl to prun by its base name and never executes this file.
baseCommand: prun
inputs:
  opt_exec:
    type: string
  opt_args:
    type: string?
  opt_inDS:
    type: string?
  opt_inDsType:
    type: string?
  opt_secondaryDSs:
    type:
    - 'null'
    - type: array
      items:
      - 'null'
      - string
  opt_secondaryDsTypes:
    type:
    - 'null'
    - type: array
      items:
      - 'null'
      - string
  opt_containerImage:
    type: string?
  opt_useAthenaPackages:
    type: boolean?
outputs:
  outDS:
    type: string
