<?xml version="1.0" encoding="UTF-8"?>
<tileset version="1.10" tiledversion="1.10.2" name="tiles16" tilewidth="16" tileheight="16" tilecount="16" columns="4">
 <image source="walls16.png" width="64" height="64"/>
 <tile id="1">
  <properties>
   <property name="blocked" type="bool" value="true"/>
  </properties>
 </tile>
 <tile id="2">
  <properties>
   <property name="collides" type="bool" value="true"/>
  </properties>
 </tile>
 <tile id="6">
  <animation>
   <frame tileid="6" duration="300"/>
   <frame tileid="7" duration="300"/>
  </animation>
 </tile>
</tileset>
